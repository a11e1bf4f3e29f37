"""HTTP-edge concerns of the served application (origins, rate limits, security headers).

Nothing here knows about answering; the answering core never imports this package.
"""
