package hostside

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"

	transportv1 "github.com/dpc-go/dpc/proto/dpc/transport/v1"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

// closeDrainTimeout bounds how long Close waits for the plugin to finish.
const closeDrainTimeout = 5 * time.Second

// ErrConnectionClosed is returned by an sdk.Conn's Read or Write after the other
// side closed it.
var ErrConnectionClosed = errors.New("connection closed")

// transportClient is the host's sdk.Transport over gRPC.
type transportClient struct {
	remotePlugin
	c transportv1.TransportClient
}

// newTransportClient binds a dispensed transport client to its base.
func newTransportClient(base *Base, raw any) sdk.Transport {
	return &transportClient{remotePlugin: remotePlugin{base: base}, c: raw.(transportv1.TransportClient)}
}

func (t *transportClient) Listen(ctx context.Context, req sdk.ListenRequest) (sdk.Listener, error) {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stream, err := t.c.Listen(lctx, &transportv1.ListenRequest{Addresses: req.Addresses})
	if err != nil {
		cancel()
		return nil, wire.FromStatus(err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		return nil, wire.FromStatus(err)
	}
	l := first.GetListening()
	if l == nil {
		cancel()
		return nil, fmt.Errorf("%w: transport sent %T before Listening", sdk.ErrInvalidArgument, first.GetEvent())
	}
	ln := &remoteListener{t: t, cancel: cancel, addrs: l.GetAddresses(), uris: l.GetUris(),
		accepted: make(chan acceptResult), done: make(chan struct{})}
	go ln.run(lctx, stream)
	return ln, nil
}

func (t *transportClient) Dial(ctx context.Context, req sdk.DialRequest) (sdk.Conn, error) {
	r, err := t.c.Dial(ctx, &transportv1.DialRequest{
		Uri: req.URI, ExpectedNodeId: req.ExpectedNodeID, TimeoutMs: uint32(req.Timeout / time.Millisecond),
	})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return t.attach(r.GetConnectionId(), r.GetEndpoints())
}

func (t *transportClient) attach(id string, ep *transportv1.Endpoints) (sdk.Conn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := t.c.Connection(ctx)
	if err != nil {
		cancel()
		return nil, wire.FromStatus(err)
	}
	if err := stream.Send(&transportv1.ConnectionFrame{Frame: &transportv1.ConnectionFrame_Attach{
		Attach: &transportv1.Attach{ConnectionId: id},
	}}); err != nil {
		cancel()
		return nil, wire.FromStatus(err)
	}
	return &remoteConn{stream: stream, cancel: cancel, local: ep.GetLocalAddress(), remote: ep.GetRemoteAddress(), path: ep.GetPath()}, nil
}

type acceptResult struct {
	conn sdk.Conn
	err  error
}

type remoteListener struct {
	t         *transportClient
	cancel    context.CancelFunc
	addrs     []string
	uris      []string
	accepted  chan acceptResult
	done      chan struct{}
	closeOnce sync.Once
}

func (l *remoteListener) run(ctx context.Context, stream grpc.ServerStreamingClient[transportv1.ListenEvent]) {
	for {
		ev, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				err = ErrConnectionClosed
			}
			select {
			case l.accepted <- acceptResult{err: fmt.Errorf("listener: %w", wire.FromStatus(err))}:
			case <-ctx.Done():
			}
			return
		}
		a := ev.GetAccepted()
		if a == nil {
			continue
		}
		c, err := l.t.attach(a.GetConnectionId(), a.GetEndpoints())
		select {
		case l.accepted <- acceptResult{conn: c, err: err}:
		case <-ctx.Done():
			if c != nil {
				_ = c.Close()
			}
			return
		}
	}
}

func (l *remoteListener) Accept() (sdk.Conn, error) {
	select {
	case r := <-l.accepted:
		return r.conn, r.err
	case <-l.done:
		return nil, ErrConnectionClosed
	}
}

func (l *remoteListener) Addresses() []string { return l.addrs }
func (l *remoteListener) URIs() []string      { return l.uris }

func (l *remoteListener) Close() error {
	l.closeOnce.Do(func() {
		l.cancel()
		close(l.done)
	})
	return nil
}

// remoteConn is one connection as the host sees it.
type remoteConn struct {
	stream        grpc.BidiStreamingClient[transportv1.ConnectionFrame, transportv1.ConnectionFrame]
	cancel        context.CancelFunc
	local, remote string
	path          string

	rmu     sync.Mutex
	pending []byte
	rerr    error

	wmu       sync.Mutex
	wclosed   bool
	closeOnce sync.Once
}

func (c *remoteConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.pending) == 0 {
		if c.rerr != nil {
			return 0, c.rerr
		}
		f, err := c.stream.Recv()
		switch {
		case err != nil:
			c.rerr = fmt.Errorf("%w: %v", ErrConnectionClosed, wire.FromStatus(err))
			if errors.Is(err, io.EOF) {
				c.rerr = io.EOF
			}
		case f.GetCloseWrite() != nil:
			c.rerr = io.EOF
		case f.GetClose() != nil:
			c.rerr = fmt.Errorf("%w by the transport: %s", ErrConnectionClosed, f.GetClose().GetReason())
		default:
			c.pending = f.GetData()
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *remoteConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wclosed {
		return 0, ErrConnectionClosed
	}
	written := 0
	for len(p) > 0 {
		n := min(len(p), wire.FrameSize)
		if err := c.stream.Send(&transportv1.ConnectionFrame{Frame: &transportv1.ConnectionFrame_Data{Data: p[:n]}}); err != nil {
			return written, fmt.Errorf("%w: %v", ErrConnectionClosed, wire.FromStatus(err))
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

func (c *remoteConn) CloseWrite() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wclosed {
		return nil
	}
	c.wclosed = true
	return c.stream.CloseSend()
}

func (c *remoteConn) Close() error {
	c.closeOnce.Do(func() {
		c.wmu.Lock()
		if !c.wclosed {
			_ = c.stream.Send(&transportv1.ConnectionFrame{Frame: &transportv1.ConnectionFrame_Close{Close: &transportv1.Close{}}})
			_ = c.stream.CloseSend()
			c.wclosed = true
		}
		c.wmu.Unlock()
		// Frames already sent must reach the peer before the stream is torn
		// down: wait (bounded) for the plugin to end the stream, then cancel.
		go func() {
			t := time.AfterFunc(closeDrainTimeout, c.cancel)
			defer t.Stop()
			c.rmu.Lock()
			for c.rerr == nil {
				if _, err := c.stream.Recv(); err != nil {
					c.rerr = ErrConnectionClosed
				}
			}
			c.rmu.Unlock()
			c.cancel()
		}()
	})
	return nil
}

func (c *remoteConn) LocalAddress() string  { return c.local }
func (c *remoteConn) RemoteAddress() string { return c.remote }

// Path is how the plugin says the bytes travel (sdk.PathReporter).
func (c *remoteConn) Path() string { return c.path }
