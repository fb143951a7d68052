package webhook

import (
	"context"
	"log/slog"

	"github.com/faxgate/faxgate/internal/fax"
)

// AttemptsRecorder is a Store that records many attempts in one write.
// When the store is one, Run records outcomes in batches on a goroutine of
// their own: a worker goes on to its next delivery as soon as the receiver
// has answered, and the outcomes of many attempts share one transaction.
type AttemptsRecorder interface {
	// RecordAttempts does what RecordAttempt does, for each of ds: ds[i].ID
	// names the delivery, ds[i].Attempts[0] is the attempt, ds[i].Status and
	// ds[i].NextAttemptAt are its new state. It returns one error (or nil)
	// per delivery, in order; a failure of one does not undo the others.
	RecordAttempts(ctx context.Context, ds []fax.Delivery) []error
}

// maxRecordBatch bounds the outcomes recorded in one write.
const maxRecordBatch = 256

// recorder writes the outcomes of Run's attempts to an AttemptsRecorder,
// as many at a time as have queued while the previous write ran.
type recorder struct {
	store AttemptsRecorder
	log   *slog.Logger
	in    chan attemptRecord
	done  chan struct{}
}

// newRecorder starts a recorder, or returns nil when the store records one
// attempt at a time (the workers then record their own).
func (w *Worker) newRecorder() *recorder {
	s, ok := w.store.(AttemptsRecorder)
	if !ok {
		return nil
	}
	r := &recorder{store: s, log: w.log, in: make(chan attemptRecord, maxRecordBatch), done: make(chan struct{})}
	go r.run()
	return r
}

// add queues an outcome; it waits while the queue is full (a batch's
// worth), which holds the workers back when the store falls behind.
func (r *recorder) add(a attemptRecord) { r.in <- a }

// close records what is queued and stops.
func (r *recorder) close() {
	close(r.in)
	<-r.done
}

func (r *recorder) run() {
	defer close(r.done)
	batch := make([]attemptRecord, 0, maxRecordBatch)
	for a := range r.in {
		batch = append(batch[:0], a)
	fill:
		for len(batch) < maxRecordBatch {
			select {
			case a, ok := <-r.in:
				if !ok {
					break fill
				}
				batch = append(batch, a)
			default:
				break fill
			}
		}
		r.write(batch)
	}
}

// write records a batch. Like RecordAttempt in deliver, it runs to
// recordTimeout whatever happens to Run's context: an attempt made is an
// attempt recorded.
func (r *recorder) write(batch []attemptRecord) {
	ds := make([]fax.Delivery, len(batch))
	attempts := make([]fax.Attempt, len(batch))
	for i, a := range batch {
		attempts[i] = a.attempt
		ds[i] = fax.Delivery{ID: a.job.Delivery.ID, Status: a.status, NextAttemptAt: a.next, Attempts: attempts[i : i+1 : i+1]}
	}
	ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
	errs := r.store.RecordAttempts(ctx, ds)
	cancel()
	for i, err := range errs {
		if err != nil && i < len(batch) {
			r.log.Error("webhook: delivery not recorded", slog.String("delivery_id", batch[i].job.Delivery.ID), slog.Any("error", err))
		}
	}
}
