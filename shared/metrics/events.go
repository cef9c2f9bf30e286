package metrics

// Metric names of call events (Reason dimension: the event type, or why an
// event was dead-lettered).
const (
	// EventQueued: a Twilio callback's event was queued for delivery.
	EventQueued = "EventQueued"
	// EventDelivered: the tenant's app answered 2xx.
	EventDelivered = "EventDelivered"
	// EventRetried: an attempt failed and will be retried.
	EventRetried = "EventRetried"
	// EventDeadLettered: the app refused the event, or it ran out of
	// retries, and it went to the dead-letter queue.
	EventDeadLettered = "EventDeadLettered"
	// EventNotWanted: the tenant's record no longer takes events of this
	// type (events removed, or the type left out of events.types) since
	// the event was queued, so it was not sent, on purpose.
	EventNotWanted = "EventNotWanted"
	// RecordingRefused: a recording callback named a RecordingUrl outside
	// the Twilio API host; nothing was fetched.
	RecordingRefused = "RecordingRefused"
)
