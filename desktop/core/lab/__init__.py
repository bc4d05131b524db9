"""The prompt lab: running a prompt over a dataset and scoring its outputs."""
