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
    ├── DownsamplingFailed
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
    ├── InvalidArgument                    (also TypeError and ValueError)
    ├── IndexOutOfRange                    (also IndexError)
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

Every bad argument of a :class:`~datastream.Datastream` method or a result set raises one of
these classes, with a message naming the argument, on every backend; arguments beyond the
documented limits (:mod:`datastream.limits`) too. Nothing is stored when a call raises.
"""

__all__ = [
    "AppendToDerivedStreamNotAllowed",
    "BackendUnavailable",
    "DatastreamException",
    "DatastreamWarning",
    "DownsampleConsistencyNotGuaranteed",
    "DownsamplingFailed",
    "IncompatibleGranularities",
    "IncompatibleTypes",
    "InconsistentStreamConfiguration",
    "InternalInconsistencyWarning",
    "InvalidOperatorArguments",
    "IndexOutOfRange",
    "InvalidArgument",
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


class DownsamplingFailed(DatastreamException):
    """Some streams could not be downsampled; the others were.

    :attr:`failures` maps each failed stream's id to the error's message. Each failed stream
    also reports its last error in ``get_tags(stream_id)['last_downsampling_error']`` until it
    downsamples successfully.
    """

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = dict(failures)
        names = ", ".join(f"{stream_id} ({message})" for stream_id, message in failures.items())
        super().__init__(f"{len(failures)} stream(s) failed to downsample: {names}")

    def __reduce__(self) -> tuple:
        return type(self), (self.failures,)


class UnsupportedDownsampler(DatastreamException, ValueError):
    """Unknown downsampler, or one that does not support the stream's value type."""


class UnsupportedGranularity(DatastreamException, ValueError):
    """The granularity is not one of ``Granularity.values``."""


class UnsupportedDeriveOperator(DatastreamException, ValueError):
    """Unknown derive operator, or one that does not support the derived stream's type."""


class UnsupportedValueType(DatastreamException, TypeError):
    """The value type is not one of ``VALUE_TYPES``."""


class ReservedTagNameError(DatastreamException, ValueError):
    """A tag uses a reserved name, or a key is not a string or contains ``__``."""


class InvalidTimestamp(DatastreamException, ValueError):
    """A timestamp is not a datetime, is outside the supported range, or is older than the
    stream's latest."""


class IncompatibleGranularities(DatastreamException, ValueError):
    """A derived stream's source granularity does not fit the operator or the source."""


class IncompatibleTypes(DatastreamException, TypeError):
    """A derived stream's source has a value type the operator cannot use."""


class AppendToDerivedStreamNotAllowed(DatastreamException, ValueError):
    """Derived streams are written by datastream only."""


class InvalidOperatorArguments(DatastreamException, ValueError):
    """Wrong number or naming of a derive operator's sources, or bad operator arguments."""


class InvalidValue(DatastreamException, ValueError):
    """A datapoint value is malformed for the stream's value type, or a value or tag set is
    beyond a documented limit (nesting depth, encoded size, digits of an integer)."""


class InvalidTagQuery(DatastreamException, ValueError):
    """A tag query is malformed (e.g. ``in`` without a list) or beyond a documented limit
    (nesting depth, digits of an integer, length of a text-match operand)."""


class InvalidValueType(DatastreamException, TypeError):
    """A datapoint value has a type the stream's value type does not accept."""


class InvalidTimeRange(DatastreamException, AttributeError, ValueError):
    """``get_data`` received an invalid combination of range arguments."""


class InvalidArgument(DatastreamException, TypeError, ValueError):
    """An argument has the wrong type or form and no more specific class applies:
    ``append_multiple`` without a list, ``value_type_options`` that are not a dictionary of
    known options, ``filter_stream`` that is not callable, a result set indexed by something
    other than integers or sliced with a step, a bad ``batch_size``."""


class IndexOutOfRange(DatastreamException, IndexError):
    """A result set was indexed past its end (or before its start)."""


class DatastreamWarning(RuntimeWarning):
    """Base class of datastream warnings; also emitted when one stream fails to downsample."""


class InvalidValueWarning(DatastreamWarning):
    """A value could not be used by a downsampler or a derive operator and was skipped."""


class InternalInconsistencyWarning(DatastreamWarning):
    """Stored metadata points at something that no longer exists."""


class DownsampleConsistencyNotGuaranteed(DatastreamWarning):
    """An append took so long that a concurrent downsampler may have missed it."""
