package sdk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	transportv1 "github.com/dpc-go/dpc/proto/dpc/transport/v1"
)

// frameSize is the largest data frame sent across the plugin boundary. It
// keeps a frame (plus its few bytes of protobuf framing) inside gRPC's 32 KiB
// buffer class: one byte more and gRPC takes, and zeroes, a 1 MiB buffer for
// every message, which costs more than the copy itself.
const frameSize = 32<<10 - 64

// unattachedTimeout is how long an accepted or dialed connection may wait
// for the host to attach to it before the plugin closes it.
const unattachedTimeout = 30 * time.Second

// closeDrainTimeout bounds how long Close waits for the plugin to finish.
const closeDrainTimeout = 5 * time.Second

// ErrConnectionClosed is returned by a Conn's Read or Write after the other
// side closed it.
var ErrConnectionClosed = errors.New("connection closed")

// transportPlugin serves and dispenses the Transport service.
type transportPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Transport
}

// GRPCServer registers the Transport service (plugin side).
func (p *transportPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	transportv1.RegisterTransportServer(s, &transportServer{impl: p.Impl, conns: map[string]*pendingConn{}})
	return nil
}

// GRPCClient returns a transport client; bind it to a base with
// newTransportClient.
func (p *transportPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return transportv1.NewTransportClient(c), nil
}

type pendingConn struct {
	conn  Conn
	timer *time.Timer
}

type transportServer struct {
	transportv1.UnimplementedTransportServer
	impl  Transport
	mu    sync.Mutex
	conns map[string]*pendingConn
}

func newConnectionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// park keeps a new connection until the host attaches to it.
func (s *transportServer) park(c Conn) string {
	id := newConnectionID()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[id] = &pendingConn{conn: c, timer: time.AfterFunc(unattachedTimeout, func() {
		if pc := s.take(id); pc != nil {
			_ = pc.Close()
		}
	})}
	return id
}

func (s *transportServer) take(id string) Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	pc, ok := s.conns[id]
	if !ok {
		return nil
	}
	delete(s.conns, id)
	pc.timer.Stop()
	return pc.conn
}

func (s *transportServer) Listen(req *transportv1.ListenRequest, stream grpc.ServerStreamingServer[transportv1.ListenEvent]) error {
	ctx := stream.Context()
	ln, err := s.impl.Listen(ctx, ListenRequest{Addresses: req.GetAddresses()})
	if err != nil {
		return toStatus(err)
	}
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	defer ln.Close()
	if err := stream.Send(&transportv1.ListenEvent{Event: &transportv1.ListenEvent_Listening{
		Listening: &transportv1.Listening{Addresses: ln.Addresses(), Uris: ln.URIs()},
	}}); err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return toStatus(fmt.Errorf("accept: %w", err))
		}
		id := s.park(c)
		if err := stream.Send(&transportv1.ListenEvent{Event: &transportv1.ListenEvent_Accepted{
			Accepted: &transportv1.Accepted{ConnectionId: id, Endpoints: endpoints(c)},
		}}); err != nil {
			if pc := s.take(id); pc != nil {
				_ = pc.Close()
			}
			return err
		}
	}
}

func endpoints(c Conn) *transportv1.Endpoints {
	return &transportv1.Endpoints{LocalAddress: c.LocalAddress(), RemoteAddress: c.RemoteAddress()}
}

func (s *transportServer) Dial(ctx context.Context, req *transportv1.DialRequest) (*transportv1.DialResponse, error) {
	c, err := s.impl.Dial(ctx, DialRequest{
		URI: req.GetUri(), ExpectedNodeID: req.GetExpectedNodeId(),
		Timeout: time.Duration(req.GetTimeoutMs()) * time.Millisecond,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &transportv1.DialResponse{ConnectionId: s.park(c), Endpoints: endpoints(c)}, nil
}

// Connection pumps one connection's bytes. The host half-closes by ending
// its send side (or sending CloseWrite) and aborts with Close; the plugin
// signals the peer's EOF with a CloseWrite frame and returns once both
// directions are done.
func (s *transportServer) Connection(stream grpc.BidiStreamingServer[transportv1.ConnectionFrame, transportv1.ConnectionFrame]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	attach := first.GetAttach()
	if attach == nil {
		return status.Error(codes.InvalidArgument, "the first frame must attach to a connection")
	}
	conn := s.take(attach.GetConnectionId())
	if conn == nil {
		return status.Errorf(codes.NotFound, "no connection %q waiting to be attached", attach.GetConnectionId())
	}
	defer conn.Close()

	readerDone := make(chan error, 1)
	go func() { readerDone <- pumpToStream(conn, stream) }()

	for {
		f, err := stream.Recv()
		if errors.Is(err, io.EOF) || (err == nil && f.GetCloseWrite() != nil) {
			_ = conn.CloseWrite()
			return <-readerDone
		}
		if err != nil {
			_ = conn.Close()
			<-readerDone
			return err
		}
		if f.GetClose() != nil {
			_ = conn.Close()
			<-readerDone
			return nil
		}
		if _, err := conn.Write(f.GetData()); err != nil {
			_ = conn.Close()
			<-readerDone
			return status.Errorf(codes.Aborted, "write to peer: %v", err)
		}
	}
}

// firstReadSize is the read buffer of a new connection. It grows to
// frameSize once a read fills it, so an idle connection (one of a flood,
// say) pins 2 KiB rather than a whole frame.
const firstReadSize = 2 << 10

// pumpToStream copies the peer's bytes to the host until EOF or error.
func pumpToStream(conn Conn, stream grpc.BidiStreamingServer[transportv1.ConnectionFrame, transportv1.ConnectionFrame]) error {
	buf := make([]byte, firstReadSize)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if serr := stream.Send(&transportv1.ConnectionFrame{Frame: &transportv1.ConnectionFrame_Data{Data: buf[:n]}}); serr != nil {
				return nil
			}
			if n == len(buf) && n < frameSize {
				buf = make([]byte, frameSize) // bytes are flowing
			}
		}
		if errors.Is(err, io.EOF) {
			_ = stream.Send(&transportv1.ConnectionFrame{Frame: &transportv1.ConnectionFrame_CloseWrite{CloseWrite: &transportv1.CloseWrite{}}})
			return nil
		}
		if err != nil {
			_ = stream.Send(&transportv1.ConnectionFrame{Frame: &transportv1.ConnectionFrame_Close{Close: &transportv1.Close{Reason: err.Error()}}})
			return nil
		}
	}
}

// transportClient is the host's Transport over gRPC.
type transportClient struct {
	remotePlugin
	c transportv1.TransportClient
}

// newTransportClient binds a dispensed transport client to its base.
func newTransportClient(base *baseClient, raw any) Transport {
	return &transportClient{remotePlugin: remotePlugin{base: base}, c: raw.(transportv1.TransportClient)}
}

func (t *transportClient) Listen(ctx context.Context, req ListenRequest) (Listener, error) {
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stream, err := t.c.Listen(lctx, &transportv1.ListenRequest{Addresses: req.Addresses})
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	l := first.GetListening()
	if l == nil {
		cancel()
		return nil, fmt.Errorf("%w: transport sent %T before Listening", ErrInvalidArgument, first.GetEvent())
	}
	ln := &remoteListener{t: t, cancel: cancel, addrs: l.GetAddresses(), uris: l.GetUris(),
		accepted: make(chan acceptResult), done: make(chan struct{})}
	go ln.run(lctx, stream)
	return ln, nil
}

func (t *transportClient) Dial(ctx context.Context, req DialRequest) (Conn, error) {
	r, err := t.c.Dial(ctx, &transportv1.DialRequest{
		Uri: req.URI, ExpectedNodeId: req.ExpectedNodeID, TimeoutMs: uint32(req.Timeout / time.Millisecond),
	})
	if err != nil {
		return nil, fromStatus(err)
	}
	return t.attach(r.GetConnectionId(), r.GetEndpoints())
}

func (t *transportClient) attach(id string, ep *transportv1.Endpoints) (Conn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := t.c.Connection(ctx)
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	if err := stream.Send(&transportv1.ConnectionFrame{Frame: &transportv1.ConnectionFrame_Attach{
		Attach: &transportv1.Attach{ConnectionId: id},
	}}); err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	return &remoteConn{stream: stream, cancel: cancel, local: ep.GetLocalAddress(), remote: ep.GetRemoteAddress()}, nil
}

type acceptResult struct {
	conn Conn
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
			case l.accepted <- acceptResult{err: fmt.Errorf("listener: %w", fromStatus(err))}:
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

func (l *remoteListener) Accept() (Conn, error) {
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
			c.rerr = fmt.Errorf("%w: %v", ErrConnectionClosed, fromStatus(err))
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
		n := min(len(p), frameSize)
		if err := c.stream.Send(&transportv1.ConnectionFrame{Frame: &transportv1.ConnectionFrame_Data{Data: p[:n]}}); err != nil {
			return written, fmt.Errorf("%w: %v", ErrConnectionClosed, fromStatus(err))
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
