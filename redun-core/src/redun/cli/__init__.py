"""The ``redun`` command line (click). The root group lives in :mod:`redun.cli.main`."""
