package sdk

import (
	"context"

	"google.golang.org/grpc"

	basev1 "github.com/dpc-go/dpc/proto/dpc/base/v1"
	hostv1 "github.com/dpc-go/dpc/proto/dpc/host/v1"
	hubv1 "github.com/dpc-go/dpc/proto/dpc/hub/v1"
	"github.com/dpc-go/dpc/sdk/internal/wire"
)

// hostClient is the plugin's Host, calling back into the host.
type hostClient struct{ c hostv1.HostClient }

func newHostClient(conn *grpc.ClientConn) Host { return hostClient{c: hostv1.NewHostClient(conn)} }

func (h hostClient) Sign(ctx context.Context, purpose string, data []byte) (Signature, error) {
	r, err := h.c.Sign(ctx, &hostv1.SignRequest{Purpose: purpose, Data: data})
	if err != nil {
		return Signature{}, wire.FromStatus(err)
	}
	return Signature{Signature: r.GetSignature(), Algorithm: r.GetAlgorithm(), SignedMessage: r.GetSignedMessage()}, nil
}

func (h hostClient) Identity(ctx context.Context) (HostIdentity, error) {
	r, err := h.c.GetIdentity(ctx, &hostv1.GetIdentityRequest{})
	if err != nil {
		return HostIdentity{}, wire.FromStatus(err)
	}
	return HostIdentity{
		NodeID: r.GetNodeId(), PublicKeyPEM: r.GetPublicKeyPem(), CertificatePEM: r.GetCertificatePem(),
		DisplayName: r.GetDisplayName(), EnvelopePublicKey: r.GetEnvelopePublicKey(),
		EnvelopeBinding: r.GetEnvelopeBindingSignature(),
	}, nil
}

func (h hostClient) RouteSignal(ctx context.Context, s Signal) error {
	_, err := h.c.RouteSignal(ctx, &hostv1.RouteSignalRequest{Signal: signalToProto(s)})
	return wire.FromStatus(err)
}

func (h hostClient) EmitEvent(ctx context.Context, e Event) error {
	_, err := h.c.EmitEvent(ctx, &hostv1.EmitEventRequest{Event: &hostv1.Event{
		Type: e.Type, Level: hostv1.Event_Level(e.Level), Message: e.Message, Attributes: e.Attributes,
	}})
	return wire.FromStatus(err)
}

func (h hostClient) SaveHubSession(ctx context.Context, s HubSession) error {
	_, err := h.c.SaveHubSession(ctx, &hostv1.SaveHubSessionRequest{Session: hubSessionToProto(s)})
	return wire.FromStatus(err)
}

func signalFromProto(s *basev1.Signal) Signal {
	return Signal{From: s.GetFrom(), To: s.GetTo(), Type: s.GetType(), Payload: s.GetPayload(), PeerNodeID: s.GetPeerNodeId()}
}

func signalToProto(s Signal) *basev1.Signal {
	return &basev1.Signal{From: s.From, To: s.To, Type: s.Type, Payload: s.Payload, PeerNodeId: s.PeerNodeID}
}

func (h hostClient) IceServers(ctx context.Context) ([]IceServer, error) {
	r, err := h.c.GetIceServers(ctx, &hubv1.GetIceServersRequest{})
	if err != nil {
		return nil, wire.FromStatus(err)
	}
	return iceServersFromProto(r.GetServers()), nil
}

func iceServersFromProto(in []*hubv1.IceServer) []IceServer {
	var out []IceServer
	for _, s := range in {
		out = append(out, IceServer{URLs: s.GetUrls(), Username: s.GetUsername(), Credential: s.GetCredential(),
			Expires: wire.FromUnixMs(s.GetExpiresUnixMs())})
	}
	return out
}

func iceServersToProto(in []IceServer) []*hubv1.IceServer {
	var out []*hubv1.IceServer
	for _, is := range in {
		out = append(out, &hubv1.IceServer{Urls: is.URLs, Username: is.Username,
			Credential: is.Credential, ExpiresUnixMs: wire.UnixMs(is.Expires)})
	}
	return out
}
