"""The HashiCorp Vault HTTP API stand-in behind tests/vault_standin.py (its entry point
and usage): util.py holds the small helpers, Token and APIError; core.py the Vault class
(state, tokens, audit log, routing, request handling); endpoints.py the h_* endpoint
handlers it inherits; server.py the HTTP layer and main().  Standard library only.
"""
