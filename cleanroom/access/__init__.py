"""Request-side tenancy: which tenant a request acts for (one resolution for API and web), and the role it needs.

Above tenants, policies and routing: it enters the tenant's region store, which needs the residency rule."""
