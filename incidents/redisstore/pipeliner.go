package redisstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// pipeliner sends the commands of concurrent callers to Redis together, in
// shared pipelines: while one pipeline is on the wire, the callers that
// arrive queue up and go out in the next. Under load this divides the
// system calls and Redis's per-read work by the batch size; a lone caller
// waits for nothing (there is no timer).
type pipeliner struct {
	rdb      redis.UniversalClient
	jobs     chan *job
	maxBatch int
	timeout  time.Duration
	stop     chan struct{}
	wg       sync.WaitGroup
}

type job struct {
	queue func(redis.Pipeliner)
	done  chan struct{}
	// state says who has the job: jobWaiting until a worker takes it
	// (jobTaken) or its caller gives up on it first (jobDropped).
	state atomic.Int32
}

const (
	jobWaiting int32 = iota
	jobTaken
	jobDropped
)

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

func newPipeliner(rdb redis.UniversalClient, workers, maxBatch int, timeout time.Duration) *pipeliner {
	p := &pipeliner{rdb: rdb, jobs: make(chan *job, workers*maxBatch), maxBatch: maxBatch, timeout: timeout, stop: make(chan struct{})}
	for range workers {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

func (p *pipeliner) close() {
	close(p.stop)
	p.wg.Wait()
}

// do queues commands with queue (which must only queue: it runs on a
// worker) and returns when they have been answered, or with ctx's error.
// The caller reads each command's own result and error; a failed exchange
// sets the error of every command in it.
//
// The commands are sent or not, never both: when ctx ends before a worker
// has taken them, they are dropped and do returns ctx's error; once a
// worker has them on the wire, do waits for the answer (bounded by the
// pipeliner's timeout) even if ctx ends, so that a caller never reports
// as failed a write that was made.
func (p *pipeliner) do(ctx context.Context, queue func(redis.Pipeliner)) error {
	j := jobPool.Get().(*job)
	j.queue = queue
	j.state.Store(jobWaiting)
	select {
	case p.jobs <- j:
	case <-ctx.Done():
		jobPool.Put(j)
		return ctx.Err()
	case <-p.stop:
		jobPool.Put(j)
		return errClosed
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		if j.state.CompareAndSwap(jobWaiting, jobDropped) {
			return ctx.Err() // not reused: it is still in the queue, and a worker will skip it
		}
		<-j.done // on the wire: its outcome is what happened
	}
	j.queue = nil
	jobPool.Put(j)
	return nil
}

var errClosed = errors.New("redisstore: store closed")

func (p *pipeliner) work() {
	defer p.wg.Done()
	batch := make([]*job, 0, p.maxBatch)
	for {
		select {
		case j := <-p.jobs:
			batch = append(batch[:0], j)
		case <-p.stop:
			return
		}
	fill:
		for len(batch) < p.maxBatch {
			select {
			case j := <-p.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		pipe := p.rdb.Pipeline()
		taken := batch[:0]
		for _, j := range batch {
			if j.state.CompareAndSwap(jobWaiting, jobTaken) {
				j.queue(pipe)
				taken = append(taken, j)
			}
		}
		batch = taken
		if len(batch) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
		_, _ = pipe.Exec(ctx) // each caller reads its own commands' errors
		cancel()
		for _, j := range batch {
			j.done <- struct{}{}
		}
	}
}

// cmdErr returns the first error among cmds, where a missing key
// (redis.Nil) is not an error.
func cmdErr(cmds ...redis.Cmder) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
	}
	return nil
}
