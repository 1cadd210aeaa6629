"""Logs, request ids and metrics that every service shares."""
