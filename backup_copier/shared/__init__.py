"""Plumbing every capability stands on: settings, clients, retries and the deadline, the result and its log line, OCID, region and kind facts.

Imports nothing from the rest of the package.
"""
