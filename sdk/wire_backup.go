package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	backupv1 "github.com/dpc-go/dpc/proto/dpc/backup/v1"
)

// backupPlugin serves and dispenses the Backup service.
type backupPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Backup
}

// GRPCServer registers the Backup service (plugin side).
func (p *backupPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	backupv1.RegisterBackupServer(s, &backupServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a Backup client; bind it with newBackupClient.
func (p *backupPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return backupv1.NewBackupClient(c), nil
}

func infoToProto(o ObjectInfo) *backupv1.ObjectInfo {
	return &backupv1.ObjectInfo{Key: o.Key, Size: uint64(o.Size), Sha256: o.SHA256, ModifiedUnixMs: o.Modified.UnixMilli()}
}

func infoFromProto(o *backupv1.ObjectInfo) ObjectInfo {
	return ObjectInfo{Key: o.GetKey(), Size: int64(o.GetSize()), SHA256: o.GetSha256(), Modified: time.UnixMilli(o.GetModifiedUnixMs())}
}

type backupServer struct {
	backupv1.UnimplementedBackupServer
	impl Backup
}

// putReader reads the chunks of a Put stream after its header.
type putReader struct {
	stream  grpc.ClientStreamingServer[backupv1.PutRequest, backupv1.PutResponse]
	pending []byte
}

func (r *putReader) Read(p []byte) (int, error) {
	for len(r.pending) == 0 {
		m, err := r.stream.Recv()
		if err != nil {
			return 0, err
		}
		if m.GetHeader() != nil {
			return 0, fmt.Errorf("%w: a second header in one Put", ErrInvalidArgument)
		}
		r.pending = m.GetChunk()
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

func (s *backupServer) Put(stream grpc.ClientStreamingServer[backupv1.PutRequest, backupv1.PutResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return toStatus(fmt.Errorf("%w: Put must start with a header", ErrInvalidArgument))
	}
	info, err := s.impl.Put(stream.Context(), h.GetKey(), &putReader{stream: stream})
	if err != nil {
		return toStatus(err)
	}
	if h.GetSize() != 0 && uint64(info.Size) != h.GetSize() {
		return toStatus(fmt.Errorf("%w: stored %d bytes, header announced %d", ErrInvalidArgument, info.Size, h.GetSize()))
	}
	return stream.SendAndClose(&backupv1.PutResponse{Object: infoToProto(info)})
}

func (s *backupServer) Get(req *backupv1.GetRequest, stream grpc.ServerStreamingServer[backupv1.GetResponse]) error {
	rc, info, err := s.impl.Get(stream.Context(), req.GetKey())
	if err != nil {
		return toStatus(err)
	}
	defer rc.Close()
	if err := stream.Send(&backupv1.GetResponse{Part: &backupv1.GetResponse_Info{Info: infoToProto(info)}}); err != nil {
		return err
	}
	buf := make([]byte, frameSize)
	for {
		n, err := rc.Read(buf)
		if n > 0 {
			if serr := stream.Send(&backupv1.GetResponse{Part: &backupv1.GetResponse_Chunk{Chunk: buf[:n]}}); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return toStatus(err)
		}
	}
}

func (s *backupServer) Stat(ctx context.Context, req *backupv1.StatRequest) (*backupv1.StatResponse, error) {
	info, err := s.impl.Stat(ctx, req.GetKey())
	if err != nil {
		return nil, toStatus(err)
	}
	return &backupv1.StatResponse{Object: infoToProto(info)}, nil
}

func (s *backupServer) List(ctx context.Context, req *backupv1.ListRequest) (*backupv1.ListResponse, error) {
	res, err := s.impl.List(ctx, ListRequest{Prefix: req.GetPrefix(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize())})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &backupv1.ListResponse{NextPageToken: res.NextPageToken}
	for _, o := range res.Objects {
		out.Objects = append(out.Objects, infoToProto(o))
	}
	return out, nil
}

func (s *backupServer) Delete(ctx context.Context, req *backupv1.DeleteRequest) (*backupv1.DeleteResponse, error) {
	if err := s.impl.Delete(ctx, req.GetKey()); err != nil {
		return nil, toStatus(err)
	}
	return &backupv1.DeleteResponse{}, nil
}

type backupClient struct {
	remotePlugin
	c backupv1.BackupClient
}

// newBackupClient binds a dispensed Backup client to its base.
func newBackupClient(base *baseClient, raw any) Backup {
	return &backupClient{remotePlugin: remotePlugin{base: base}, c: raw.(backupv1.BackupClient)}
}

func (b *backupClient) Put(ctx context.Context, key string, r io.Reader) (ObjectInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := b.c.Put(ctx)
	if err != nil {
		return ObjectInfo{}, fromStatus(err)
	}
	if err := stream.Send(&backupv1.PutRequest{Part: &backupv1.PutRequest_Header{Header: &backupv1.PutHeader{Key: key}}}); err != nil {
		return ObjectInfo{}, b.sendError(stream, err)
	}
	buf := make([]byte, frameSize)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if err := stream.Send(&backupv1.PutRequest{Part: &backupv1.PutRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				return ObjectInfo{}, b.sendError(stream, err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			// Cancelling the stream aborts the Put: nothing is stored.
			return ObjectInfo{}, fmt.Errorf("reading the object to store: %w", rerr)
		}
	}
	res, err := stream.CloseAndRecv()
	if err != nil {
		return ObjectInfo{}, fromStatus(err)
	}
	return infoFromProto(res.GetObject()), nil
}

// sendError finds the real reason a Send failed: the server's status.
func (b *backupClient) sendError(stream grpc.ClientStreamingClient[backupv1.PutRequest, backupv1.PutResponse], err error) error {
	if errors.Is(err, io.EOF) {
		_, err = stream.CloseAndRecv()
	}
	return fromStatus(err)
}

func (b *backupClient) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := b.c.Get(ctx, &backupv1.GetRequest{Key: key})
	if err != nil {
		cancel()
		return nil, ObjectInfo{}, fromStatus(err)
	}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		return nil, ObjectInfo{}, fromStatus(err)
	}
	if first.GetInfo() == nil {
		cancel()
		return nil, ObjectInfo{}, fmt.Errorf("%w: Get stream did not start with object info", ErrInvalidArgument)
	}
	return &getReader{stream: stream, cancel: cancel}, infoFromProto(first.GetInfo()), nil
}

type getReader struct {
	stream  grpc.ServerStreamingClient[backupv1.GetResponse]
	cancel  context.CancelFunc
	pending []byte
	err     error
}

func (g *getReader) Read(p []byte) (int, error) {
	for len(g.pending) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		m, err := g.stream.Recv()
		if err != nil {
			g.err = err
			if !errors.Is(err, io.EOF) {
				g.err = fromStatus(err)
			}
			continue
		}
		g.pending = m.GetChunk()
	}
	n := copy(p, g.pending)
	g.pending = g.pending[n:]
	return n, nil
}

func (g *getReader) Close() error {
	g.cancel()
	return nil
}

func (b *backupClient) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	r, err := b.c.Stat(ctx, &backupv1.StatRequest{Key: key})
	if err != nil {
		return ObjectInfo{}, fromStatus(err)
	}
	return infoFromProto(r.GetObject()), nil
}

func (b *backupClient) List(ctx context.Context, req ListRequest) (ListResult, error) {
	r, err := b.c.List(ctx, &backupv1.ListRequest{Prefix: req.Prefix, PageToken: req.PageToken, PageSize: uint32(req.PageSize)})
	if err != nil {
		return ListResult{}, fromStatus(err)
	}
	out := ListResult{NextPageToken: r.GetNextPageToken()}
	for _, o := range r.GetObjects() {
		out.Objects = append(out.Objects, infoFromProto(o))
	}
	return out, nil
}

func (b *backupClient) Delete(ctx context.Context, key string) error {
	_, err := b.c.Delete(ctx, &backupv1.DeleteRequest{Key: key})
	return fromStatus(err)
}
