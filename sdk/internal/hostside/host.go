package hostside

import (
	"context"
	"sync"

	"google.golang.org/grpc"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	hostv1 "github.com/dpc-go/dpc/proto/dpc/host/v1"
	hubv1 "github.com/dpc-go/dpc/proto/dpc/hub/v1"
	"github.com/dpc-go/dpc/sdk"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

// hostServer serves sdk.Host (implemented in the host) to one plugin.
type hostServer struct {
	hostv1.UnimplementedHostServer
	mu   sync.RWMutex
	impl sdk.Host
}

func registerHostServer(s *grpc.Server, h *hostServer) { hostv1.RegisterHostServer(s, h) }

func (h *hostServer) set(impl sdk.Host) {
	h.mu.Lock()
	h.impl = impl
	h.mu.Unlock()
}

func (h *hostServer) get() sdk.Host {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.impl
}

func (h *hostServer) Sign(ctx context.Context, req *hostv1.SignRequest) (*hostv1.SignResponse, error) {
	sig, err := h.get().Sign(ctx, req.GetPurpose(), req.GetData())
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hostv1.SignResponse{Signature: sig.Signature, Algorithm: sig.Algorithm, SignedMessage: sig.SignedMessage}, nil
}

func (h *hostServer) GetIdentity(ctx context.Context, _ *hostv1.GetIdentityRequest) (*hostv1.GetIdentityResponse, error) {
	id, err := h.get().Identity(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hostv1.GetIdentityResponse{
		NodeId: id.NodeID, PublicKeyPem: id.PublicKeyPEM, CertificatePem: id.CertificatePEM,
		DisplayName: id.DisplayName, EnvelopePublicKey: id.EnvelopePublicKey,
		EnvelopeBindingSignature: id.EnvelopeBinding,
	}, nil
}

func (h *hostServer) RouteSignal(ctx context.Context, req *hostv1.RouteSignalRequest) (*hostv1.RouteSignalResponse, error) {
	if err := h.get().RouteSignal(ctx, signalFromProto(req.GetSignal())); err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hostv1.RouteSignalResponse{}, nil
}

func (h *hostServer) EmitEvent(ctx context.Context, req *hostv1.EmitEventRequest) (*hostv1.EmitEventResponse, error) {
	e := req.GetEvent()
	err := h.get().EmitEvent(ctx, sdk.Event{
		Type: e.GetType(), Level: sdk.EventLevel(e.GetLevel()), Message: e.GetMessage(), Attributes: e.GetAttributes(),
	})
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hostv1.EmitEventResponse{}, nil
}

func (h *hostServer) SaveHubSession(ctx context.Context, req *hostv1.SaveHubSessionRequest) (*hostv1.SaveHubSessionResponse, error) {
	if err := h.get().SaveHubSession(ctx, hubSessionFromProto(req.GetSession())); err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hostv1.SaveHubSessionResponse{}, nil
}

func signalFromProto(s *basev1.Signal) sdk.Signal {
	return sdk.Signal{From: s.GetFrom(), To: s.GetTo(), Type: s.GetType(), Payload: s.GetPayload(), PeerNodeID: s.GetPeerNodeId()}
}

func signalToProto(s sdk.Signal) *basev1.Signal {
	return &basev1.Signal{From: s.From, To: s.To, Type: s.Type, Payload: s.Payload, PeerNodeId: s.PeerNodeID}
}

func (h *hostServer) GetIceServers(ctx context.Context, _ *hubv1.GetIceServersRequest) (*hubv1.GetIceServersResponse, error) {
	servers, err := h.get().IceServers(ctx)
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return &hubv1.GetIceServersResponse{Servers: iceServersToProto(servers)}, nil
}

func iceServersFromProto(in []*hubv1.IceServer) []sdk.IceServer {
	var out []sdk.IceServer
	for _, s := range in {
		out = append(out, sdk.IceServer{URLs: s.GetUrls(), Username: s.GetUsername(), Credential: s.GetCredential(),
			Expires: wire.FromUnixMs(s.GetExpiresUnixMs())})
	}
	return out
}

func iceServersToProto(in []sdk.IceServer) []*hubv1.IceServer {
	var out []*hubv1.IceServer
	for _, is := range in {
		out = append(out, &hubv1.IceServer{Urls: is.URLs, Username: is.Username,
			Credential: is.Credential, ExpiresUnixMs: wire.UnixMs(is.Expires)})
	}
	return out
}
