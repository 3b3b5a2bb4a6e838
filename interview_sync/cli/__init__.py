"""The command line (Typer); a thin layer over the library."""
