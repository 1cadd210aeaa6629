"""Errors of the messaging layer, each with a message a person can act on."""


class MessagingError(Exception):
    """Base of the errors below."""


class BrokerUnavailable(MessagingError):
    """The broker could not be reached: nothing was sent."""


class ReplyTimeout(MessagingError):
    """The other service did not answer within the bounded wait (its worker may be down)."""


class RemoteFailure(MessagingError):
    """The other service's handler failed while handling the command."""
