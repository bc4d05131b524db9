"""``folio`` with arguments: headless commands on the same core the window drives.

``main`` parses (``parsers`` declares what each command takes) and hands the command to its
module (``ask``, ``config``, ``models``, ``documents``, ``bench``), imported only then. Bad input
ends with one line on stderr and exit code 2, never a traceback (``errors``).
"""
