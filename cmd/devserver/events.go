package main

import (
	"context"
	"crypto/rand"
	"log/slog"
	"time"

	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/recordings"
)

// queueTick is how often the in-memory queue looks for messages whose
// retry delay has passed (a new message is handed over at once).
const queueTick = 250 * time.Millisecond

// startEvents gives the dev server call events with no AWS: an in-memory
// queue whose consumer is delivery.Deliver, with the same retry policy as in
// AWS (first retry after 3 s), an in-memory dead-letter queue,
// recordings copied from Twilio into cfg.Events.RecordingsDir and served by
// the dev server's own /recordings/... route, signed with a key made for
// this run. The consumer stops with ctx.
func startEvents(ctx context.Context, d *httpapi.Deps, cfg config.Config) error {
	store, err := newDiskStore(cfg.Events.RecordingsDir)
	if err != nil {
		return err
	}
	fetcher, err := recordings.NewFetcher(cfg.Events.TwilioAPIBaseURL)
	if err != nil {
		return err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	links, err := recordings.NewLinks(key, cfg.PublicBaseURL)
	if err != nil {
		return err
	}
	q := newMemQueue(time.Now)
	d.Events = httpapi.EventDeps{Queue: q, Fetcher: fetcher, Recordings: store, Links: links}
	deliver := delivery.Deps{
		Store: d.Store, Log: d.Log, Metrics: d.Metrics, Now: d.Now,
		Poster:      events.NewPoster(time.Now),
		DeadLetters: newMemQueue(time.Now), // kept for the run; its events are logged as dead-lettered
		Fetcher:     fetcher,
		Recordings:  store,
		Links:       links,
		Retention:   time.Duration(cfg.Events.RecordingRetentionDays) * 24 * time.Hour,
	}
	go q.Run(ctx, deliver.Deliver, queueTick)
	d.Log.Info("call events: in-memory queue", slog.String("recordings_dir", store.Dir()),
		slog.String("twilio_api_base_url", fetcher.Base()))
	return nil
}
