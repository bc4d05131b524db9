"""``folio`` with arguments: headless commands on the same core the window drives.

``main`` parses and dispatches; each command has a module of its own (``ask``, ``config``,
``models``, ``documents``, ``bench``) with its ``add_parser`` and ``run``. Bad input ends with
one line on stderr and exit code 2, never a traceback (``errors``).
"""
