"""The blackboard's errors.

* BlackboardError
  + StoreUnavailable      Redis could not be reached or answered with a connection error
  + EntryDecodeError      a stored entry does not parse as any known kind
  + TransitionError
    - InvalidTransition   the state machine does not allow that move
    - TransitionConflict  someone else moved the record first (compare-and-set lost)
  + UnknownRecord         no record with that id
"""

from __future__ import annotations


class BlackboardError(Exception):
    """Base of every error the blackboard raises."""


class StoreUnavailable(BlackboardError):
    """Redis could not be reached."""


class EntryDecodeError(BlackboardError):
    """A stored entry does not parse as any known kind."""


class TransitionError(BlackboardError):
    """A status record could not be moved."""


class InvalidTransition(TransitionError):
    """The state machine does not allow that move."""


class TransitionConflict(TransitionError):
    """The record was not in the expected state: someone else moved it first."""


class UnknownRecord(BlackboardError):
    """No record with that id."""
