"""What every package of the project shares, and nothing else: units and page
geometry (``hpsim.units``), input errors and atomic writes (``hpsim.io``), and
the command-line convention (``hpsim.cli``).  Imports no other project package.
"""
