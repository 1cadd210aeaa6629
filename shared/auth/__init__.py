"""Staff sign-in shared by every service: passwords, roles, server-side sessions in Redis,
role guards and CSRF protection.

A service wires it into its app with `staff_session_config(settings)` (middleware) and
`staff_csrf_config(settings)`; its routes say who may use them with `requires(Role.X)`.
"""
