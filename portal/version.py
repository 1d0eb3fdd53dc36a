"""The release this code is: recorded in every backup's manifest (``manage.py backup``),
so an archive says which Incident Portal made it. Raise it with each release."""

VERSION = "3.0.0.dev0"
