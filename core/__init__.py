"""What every app shares: base API classes and the exception handler, role sets, job statuses
and the status-transition helper, the CSV formula guard, a keyset iterator, the
Content-Security-Policy middleware. core imports no app of the platform."""
