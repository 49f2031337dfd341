"""Reads: functions that query and shape data, never write it."""
