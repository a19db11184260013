"""Operator authentication (users, tokens, API keys, login rate limits) and the audit log of sensitive actions."""
