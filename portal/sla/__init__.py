"""The SLA clock: business calendars, per-priority targets, the clock derived from an
incident's history, the words for it, and the warnings and escalations the worker sends."""
