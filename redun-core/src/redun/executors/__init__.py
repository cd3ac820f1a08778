"""Executors: where a job's task body actually runs."""
