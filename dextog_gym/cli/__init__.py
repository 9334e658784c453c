"""The ``dextog`` command line."""
