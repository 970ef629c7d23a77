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

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	transportv1 "github.com/dpc-go/dpc/proto/dpc/transport/v1"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

// unattachedTimeout is how long an accepted or dialed connection may wait
// for the host to attach to it before the plugin closes it.
const unattachedTimeout = 30 * time.Second

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
		return wire.ToStatus(err)
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
			return wire.ToStatus(fmt.Errorf("accept: %w", err))
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
	ep := &transportv1.Endpoints{LocalAddress: c.LocalAddress(), RemoteAddress: c.RemoteAddress()}
	if p, ok := c.(PathReporter); ok {
		ep.Path = p.Path()
	}
	return ep
}

func (s *transportServer) Dial(ctx context.Context, req *transportv1.DialRequest) (*transportv1.DialResponse, error) {
	c, err := s.impl.Dial(ctx, DialRequest{
		URI: req.GetUri(), ExpectedNodeID: req.GetExpectedNodeId(),
		Timeout: time.Duration(req.GetTimeoutMs()) * time.Millisecond,
	})
	if err != nil {
		return nil, wire.ToStatus(err)
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
// wire.FrameSize once a read fills it, so an idle connection (one of a flood,
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
			if n == len(buf) && n < wire.FrameSize {
				buf = make([]byte, wire.FrameSize) // bytes are flowing
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
