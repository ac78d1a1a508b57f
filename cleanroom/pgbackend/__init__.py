"""Django's PostgreSQL backend, with a short retry on connecting, so that a database restart (a second or so) is
not a burst of 503s. Every database alias uses it (settings)."""
