// Package recordings copies call recordings out of Twilio into the
// deployment's own storage and links them for the tenant's app: Fetcher
// downloads a RecordingUrl from Twilio's API host (and only from it) with
// the subaccount's credentials, a Store keeps the file (S3 in AWS, see
// s3store; a directory in the dev server), and Links signs and checks the
// stable links the app receives.
package recordings

import (
	"context"
	"io"
	"strings"
	"time"
)

// DefaultRetentionDays is how long a stored recording, and so its link,
// lasts unless the deployment says otherwise (RECORDING_RETENTION_DAYS;
// the template's RecordingRetentionDays default is checked against it).
const DefaultRetentionDays = 30

// ContentType is the type every stored recording has: Fetcher asks Twilio
// for MP3.
const ContentType = "audio/mpeg"

// Key is where the recording recordingSID of accountSID is stored: under
// Prefix(accountSID).
func Key(accountSID, recordingSID string) string {
	return Prefix(accountSID) + recordingSID + ".mp3"
}

// Prefix is the key prefix of every recording of accountSID, which
// `subaccounts close` deletes.
func Prefix(accountSID string) string {
	return "recordings/" + accountSID + "/"
}

// TranscriptTextKey is where the full text of a recording's transcript is
// stored when its event's transcript_text was cut; its link is
// Links.TranscriptURL. It is under Prefix, beside the recording, so that
// closing a subaccount deletes it with the recordings and the bucket's
// lifecycle rule expires them together.
func TranscriptTextKey(accountSID, recordingSID string) string {
	return Prefix(accountSID) + recordingSID + ".txt"
}

// TextContentType is the type of a stored transcript text.
const TextContentType = "text/plain; charset=utf-8"

// ContentTypeOf is the type an object stored at key is served with: a
// transcript's text (".txt"), else a recording.
func ContentTypeOf(key string) string {
	if strings.HasSuffix(key, ".txt") {
		return TextContentType
	}
	return ContentType
}

// Store keeps recordings.
type Store interface {
	// Put stores size bytes of body at key, replacing what is there.
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error
	// Stat reports when the object at key was stored; ok is false when
	// there is none.
	Stat(ctx context.Context, key string) (stored time.Time, ok bool, err error)
	// Get returns how to hand the object at key to a browser: a URL to
	// redirect to (S3: a presigned GET valid for minutes), or its content.
	// An object that does not exist is ErrNotFound (the disk store; S3's
	// presigned URL answers 404 itself).
	Get(ctx context.Context, key string) (Object, error)
}

// Object is a stored recording as Store.Get hands it out: either URL or
// Content is set.
type Object struct {
	URL      string
	Content  io.ReadSeekCloser
	Modified time.Time
}
