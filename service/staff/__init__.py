"""Staff accounts: roles, passwords, browser sessions with CSRF tokens, API tokens, audit log."""
