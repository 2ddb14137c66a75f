"""Alert intake from monitoring tools: one module per source format, one shared path.

`events_v2` (PagerDuty Events API v2), `alertmanager` (Prometheus Alertmanager's
webhook) and `webhook` (any JSON, read with a mapping) turn a body into events;
`body` reads and checks bodies; `accept` authenticates the sender and hands each
event to its alert's workflow.
"""
