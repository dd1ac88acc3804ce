"""Exceptions and warnings raised by :mod:`datastream`.

The tree::

    DatastreamException (Exception)
    ├── StreamNotFound
    ├── MultipleStreamsReturned
    ├── InconsistentStreamConfiguration
    ├── OutstandingDependenciesError
    ├── LockExpiredMidMaintenance
    ├── StreamAppendContended
    ├── StreamAppendFailed
    ├── BackendUnavailable                 (also ConnectionError)
    ├── UnsupportedDownsampler             (also ValueError)
    ├── UnsupportedGranularity             (also ValueError)
    ├── UnsupportedDeriveOperator          (also ValueError)
    ├── ReservedTagNameError               (also ValueError)
    ├── InvalidTimestamp                   (also ValueError)
    ├── IncompatibleGranularities          (also ValueError)
    ├── AppendToDerivedStreamNotAllowed    (also ValueError)
    ├── InvalidOperatorArguments           (also ValueError)
    ├── InvalidValue                       (also ValueError)
    ├── InvalidTagQuery                    (also ValueError)
    ├── InvalidTimeRange                   (also AttributeError and ValueError)
    ├── UnsupportedValueType               (also TypeError)
    ├── IncompatibleTypes                  (also TypeError)
    └── InvalidValueType                   (also TypeError)

    DatastreamWarning (RuntimeWarning)
    ├── InvalidValueWarning
    ├── InternalInconsistencyWarning
    └── DownsampleConsistencyNotGuaranteed

``InvalidValue`` and ``InvalidValueType`` are what ``append`` raises for a bad value; they are
``ValueError``/``TypeError`` subclasses, so code written for the original library (which raised
the builtins) keeps working. ``InvalidTimeRange`` is what ``get_data`` raises for a bad
combination of range arguments; the original raised ``AttributeError``, which it still is.
"""

__all__ = [
    "AppendToDerivedStreamNotAllowed",
    "BackendUnavailable",
    "DatastreamException",
    "DatastreamWarning",
    "DownsampleConsistencyNotGuaranteed",
    "IncompatibleGranularities",
    "IncompatibleTypes",
    "InconsistentStreamConfiguration",
    "InternalInconsistencyWarning",
    "InvalidOperatorArguments",
    "InvalidTagQuery",
    "InvalidTimeRange",
    "InvalidTimestamp",
    "InvalidValue",
    "InvalidValueType",
    "InvalidValueWarning",
    "LockExpiredMidMaintenance",
    "MultipleStreamsReturned",
    "OutstandingDependenciesError",
    "ReservedTagNameError",
    "StreamAppendContended",
    "StreamAppendFailed",
    "StreamNotFound",
    "UnsupportedDeriveOperator",
    "UnsupportedDownsampler",
    "UnsupportedGranularity",
    "UnsupportedValueType",
]


class DatastreamException(Exception):
    """Base class of every exception raised by datastream."""


class StreamNotFound(DatastreamException):
    """The stream id is unknown (or is not a valid stream id at all)."""


class MultipleStreamsReturned(DatastreamException):
    """``ensure_stream`` query tags match more than one stream."""


class InconsistentStreamConfiguration(DatastreamException):
    """``ensure_stream`` found a stream whose configuration differs from the request."""


class OutstandingDependenciesError(DatastreamException):
    """Streams cannot be deleted because surviving derived streams depend on them."""


class LockExpiredMidMaintenance(DatastreamException):
    """The per-stream maintenance lock expired while downsampling."""


class StreamAppendContended(DatastreamException):
    """Too many concurrent writers kept an append from completing."""


class StreamAppendFailed(DatastreamException):
    """The storage failed while writing datapoints."""


class BackendUnavailable(DatastreamException, ConnectionError):
    """The storage server cannot be reached; nothing was written."""


class UnsupportedDownsampler(DatastreamException, ValueError):
    """Unknown downsampler, or one that does not support the stream's value type."""


class UnsupportedGranularity(DatastreamException, ValueError):
    """The granularity is not one of ``Granularity.values``."""


class UnsupportedDeriveOperator(DatastreamException, ValueError):
    """Unknown derive operator, or one that does not support the derived stream's type."""


class UnsupportedValueType(DatastreamException, TypeError):
    """The value type is not one of ``VALUE_TYPES``."""


class ReservedTagNameError(DatastreamException, ValueError):
    """A tag uses a reserved name, or a key contains ``__``."""


class InvalidTimestamp(DatastreamException, ValueError):
    """A timestamp is outside the supported range, or older than the stream's latest."""


class IncompatibleGranularities(DatastreamException, ValueError):
    """A derived stream's source granularity does not fit the operator or the source."""


class IncompatibleTypes(DatastreamException, TypeError):
    """A derived stream's source has a value type the operator cannot use."""


class AppendToDerivedStreamNotAllowed(DatastreamException, ValueError):
    """Derived streams are written by datastream only."""


class InvalidOperatorArguments(DatastreamException, ValueError):
    """Wrong number or naming of a derive operator's sources, or bad operator arguments."""


class InvalidValue(DatastreamException, ValueError):
    """A datapoint value is malformed for the stream's value type."""


class InvalidTagQuery(DatastreamException, ValueError):
    """A tag query is malformed (e.g. ``in`` without a list)."""


class InvalidValueType(DatastreamException, TypeError):
    """A datapoint value has a type the stream's value type does not accept."""


class InvalidTimeRange(DatastreamException, AttributeError, ValueError):
    """``get_data`` received an invalid combination of range arguments."""


class DatastreamWarning(RuntimeWarning):
    """Base class of datastream warnings; also emitted when one stream fails to downsample."""


class InvalidValueWarning(DatastreamWarning):
    """A value could not be used by a downsampler or a derive operator and was skipped."""


class InternalInconsistencyWarning(DatastreamWarning):
    """Stored metadata points at something that no longer exists."""


class DownsampleConsistencyNotGuaranteed(DatastreamWarning):
    """An append took so long that a concurrent downsampler may have missed it."""
