"""The prompt lab's window: batch runs over a data file, their scores and charts."""
