"""Notification channels: Email, Slack, Teams, PagerDuty, OpsGenie and signed webhooks."""
