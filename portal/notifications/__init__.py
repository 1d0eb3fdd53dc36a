"""Email notifications: SQLAlchemy session hooks write a transactional outbox; a
deliverer (a thread in the app, or ``manage.py deliver-mail``) sends it with Flask-Mailman."""
