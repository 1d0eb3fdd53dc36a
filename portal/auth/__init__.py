"""Users, roles and logins (Flask-Security-Too)."""
