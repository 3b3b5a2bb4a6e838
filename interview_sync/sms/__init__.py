"""Text messages: a channel Protocol, the Twilio adapter, numbers, consent and segments."""
