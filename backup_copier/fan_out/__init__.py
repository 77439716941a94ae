"""Capability: a reconcile, expire or report over many compartments split over detached invocations of this function."""
