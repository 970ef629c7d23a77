package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	backupv1 "github.com/dpc-go/dpc/proto/dpc/backup/v1"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

func infoToProto(o ObjectInfo) *backupv1.ObjectInfo {
	return &backupv1.ObjectInfo{Key: o.Key, Size: uint64(o.Size), Sha256: o.SHA256, ModifiedUnixMs: o.Modified.UnixMilli()}
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
		return wire.ToStatus(fmt.Errorf("%w: Put must start with a header", ErrInvalidArgument))
	}
	res, err := s.impl.Put(stream.Context(), PutRequest{Key: h.GetKey(), Body: &putReader{stream: stream}})
	if err != nil {
		return wire.ToStatus(err)
	}
	if h.GetSize() != 0 && uint64(res.Object.Size) != h.GetSize() {
		return wire.ToStatus(fmt.Errorf("%w: stored %d bytes, header announced %d", ErrInvalidArgument, res.Object.Size, h.GetSize()))
	}
	return stream.SendAndClose(&backupv1.PutResponse{Object: infoToProto(res.Object)})
}

func (s *backupServer) Get(req *backupv1.GetRequest, stream grpc.ServerStreamingServer[backupv1.GetResponse]) error {
	res, err := s.impl.Get(stream.Context(), GetRequest{Key: req.GetKey()})
	if err != nil {
		return wire.ToStatus(err)
	}
	defer res.Body.Close()
	if err := stream.Send(&backupv1.GetResponse{Part: &backupv1.GetResponse_Info{Info: infoToProto(res.Object)}}); err != nil {
		return err
	}
	buf := make([]byte, wire.FrameSize)
	for {
		n, err := res.Body.Read(buf)
		if n > 0 {
			if serr := stream.Send(&backupv1.GetResponse{Part: &backupv1.GetResponse_Chunk{Chunk: buf[:n]}}); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return wire.ToStatus(err)
		}
	}
}

func (s *backupServer) Stat(ctx context.Context, req *backupv1.StatRequest) (*backupv1.StatResponse, error) {
	res, err := s.impl.Stat(ctx, StatRequest{Key: req.GetKey()})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &backupv1.StatResponse{Object: infoToProto(res.Object)}, nil
}

func (s *backupServer) List(ctx context.Context, req *backupv1.ListRequest) (*backupv1.ListResponse, error) {
	res, err := s.impl.List(ctx, ListRequest{Prefix: req.GetPrefix(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize())})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	out := &backupv1.ListResponse{NextPageToken: res.NextPageToken}
	for _, o := range res.Objects {
		out.Objects = append(out.Objects, infoToProto(o))
	}
	return out, nil
}

func (s *backupServer) Delete(ctx context.Context, req *backupv1.DeleteRequest) (*backupv1.DeleteResponse, error) {
	if err := s.impl.Delete(ctx, DeleteRequest{Key: req.GetKey()}); err != nil {
		return nil, wire.ToStatus(err)
	}
	return &backupv1.DeleteResponse{}, nil
}
