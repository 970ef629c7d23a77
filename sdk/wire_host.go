package sdk

import (
	"context"
	"sync"

	"google.golang.org/grpc"

	hostv1 "github.com/dpc-go/dpc/proto/dpc/host/v1"
)

// hostServer serves Host (implemented in the host) to one plugin.
type hostServer struct {
	hostv1.UnimplementedHostServer
	mu   sync.RWMutex
	impl Host
}

func registerHostServer(s *grpc.Server, h *hostServer) { hostv1.RegisterHostServer(s, h) }

func (h *hostServer) set(impl Host) {
	h.mu.Lock()
	h.impl = impl
	h.mu.Unlock()
}

func (h *hostServer) get() Host {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.impl
}

func (h *hostServer) Sign(ctx context.Context, req *hostv1.SignRequest) (*hostv1.SignResponse, error) {
	sig, err := h.get().Sign(ctx, req.GetPurpose(), req.GetData())
	if err != nil {
		return nil, toStatus(err)
	}
	return &hostv1.SignResponse{Signature: sig.Signature, Algorithm: sig.Algorithm, SignedMessage: sig.SignedMessage}, nil
}

func (h *hostServer) GetIdentity(ctx context.Context, _ *hostv1.GetIdentityRequest) (*hostv1.GetIdentityResponse, error) {
	id, err := h.get().Identity(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &hostv1.GetIdentityResponse{
		NodeId: id.NodeID, PublicKeyPem: id.PublicKeyPEM, CertificatePem: id.CertificatePEM,
		DisplayName: id.DisplayName, EnvelopePublicKey: id.EnvelopePublicKey,
		EnvelopeBindingSignature: id.EnvelopeBinding,
	}, nil
}

func (h *hostServer) RouteSignal(ctx context.Context, req *hostv1.RouteSignalRequest) (*hostv1.RouteSignalResponse, error) {
	if err := h.get().RouteSignal(ctx, signalFromProto(req.GetSignal())); err != nil {
		return nil, toStatus(err)
	}
	return &hostv1.RouteSignalResponse{}, nil
}

func (h *hostServer) EmitEvent(ctx context.Context, req *hostv1.EmitEventRequest) (*hostv1.EmitEventResponse, error) {
	e := req.GetEvent()
	err := h.get().EmitEvent(ctx, Event{
		Type: e.GetType(), Level: EventLevel(e.GetLevel()), Message: e.GetMessage(), Attributes: e.GetAttributes(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return &hostv1.EmitEventResponse{}, nil
}

// hostClient is the plugin's Host, calling back into the host.
type hostClient struct{ c hostv1.HostClient }

func newHostClient(conn *grpc.ClientConn) Host { return hostClient{c: hostv1.NewHostClient(conn)} }

func (h hostClient) Sign(ctx context.Context, purpose string, data []byte) (Signature, error) {
	r, err := h.c.Sign(ctx, &hostv1.SignRequest{Purpose: purpose, Data: data})
	if err != nil {
		return Signature{}, fromStatus(err)
	}
	return Signature{Signature: r.GetSignature(), Algorithm: r.GetAlgorithm(), SignedMessage: r.GetSignedMessage()}, nil
}

func (h hostClient) Identity(ctx context.Context) (HostIdentity, error) {
	r, err := h.c.GetIdentity(ctx, &hostv1.GetIdentityRequest{})
	if err != nil {
		return HostIdentity{}, fromStatus(err)
	}
	return HostIdentity{
		NodeID: r.GetNodeId(), PublicKeyPEM: r.GetPublicKeyPem(), CertificatePEM: r.GetCertificatePem(),
		DisplayName: r.GetDisplayName(), EnvelopePublicKey: r.GetEnvelopePublicKey(),
		EnvelopeBinding: r.GetEnvelopeBindingSignature(),
	}, nil
}

func (h hostClient) RouteSignal(ctx context.Context, s Signal) error {
	_, err := h.c.RouteSignal(ctx, &hostv1.RouteSignalRequest{Signal: signalToProto(s)})
	return fromStatus(err)
}

func (h hostClient) EmitEvent(ctx context.Context, e Event) error {
	_, err := h.c.EmitEvent(ctx, &hostv1.EmitEventRequest{Event: &hostv1.Event{
		Type: e.Type, Level: hostv1.Event_Level(e.Level), Message: e.Message, Attributes: e.Attributes,
	}})
	return fromStatus(err)
}
