package slack

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"github.com/airlockhq/airlock/approvals"
)

// UserDirectory knows the groups of a person by verified email: the
// configured approver map, and/or what the IdP said about that email.
type UserDirectory interface {
	GroupsForEmail(ctx context.Context, email string) ([]string, error)
}

// StaticDirectory maps emails (any case) to groups, from configuration.
type StaticDirectory map[string][]string

// GroupsForEmail implements UserDirectory.
func (d StaticDirectory) GroupsForEmail(_ context.Context, email string) ([]string, error) {
	for k, gs := range d {
		if strings.EqualFold(k, email) {
			return gs, nil
		}
	}
	return nil, nil
}

// Directories is the union of several directories: a person is in every
// group any of them knows. An error from any of them is an error, so a
// failing IdP never silently shrinks the approver set into a refusal that
// looks like policy.
type Directories []UserDirectory

// GroupsForEmail implements UserDirectory.
func (ds Directories) GroupsForEmail(ctx context.Context, email string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, d := range ds {
		gs, err := d.GroupsForEmail(ctx, email)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			if !seen[g] {
				seen[g] = true
				out = append(out, g)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// errUnverified explains why a Slack user is not an identity airlock
// accepts; the text is shown to them.
type errUnverified struct{ why string }

func (e errUnverified) Error() string { return e.why }

// identify maps a Slack user to an approver. "Verified email" means what
// users.info can vouch for: an active, full member of the workspace (not
// deleted, not a bot, app or workflow, not a guest or a user from another
// organisation, not a pending invite) whose profile email is present and
// confirmed. The email is then the identity; the directory gives groups.
func identify(ctx context.Context, api *slack.Client, users UserDirectory, userID string) (approvals.Approver, error) {
	if userID == "" {
		return approvals.Approver{}, errUnverified{"the interaction names no Slack user"}
	}
	u, err := api.GetUserInfoContext(ctx, userID)
	if err != nil {
		return approvals.Approver{}, fmt.Errorf("slack: users.info %s: %w", userID, err)
	}
	switch {
	case u.Deleted:
		return approvals.Approver{}, errUnverified{"your Slack account is deactivated"}
	case u.IsBot || u.IsAppUser || u.IsWorkflowBot || u.IsConnectorBot:
		return approvals.Approver{}, errUnverified{"bots and apps cannot approve"}
	case u.IsRestricted || u.IsUltraRestricted:
		return approvals.Approver{}, errUnverified{"guest accounts cannot approve"}
	case u.IsStranger:
		return approvals.Approver{}, errUnverified{"people from another Slack organisation cannot approve"}
	case u.IsInvitedUser:
		return approvals.Approver{}, errUnverified{"your Slack invitation is not accepted yet"}
	case strings.TrimSpace(u.Profile.Email) == "":
		return approvals.Approver{}, errUnverified{"airlock cannot see an email address on your Slack profile (the app needs the users:read.email scope)"}
	case !u.IsEmailConfirmed:
		return approvals.Approver{}, errUnverified{"the email address on your Slack profile is not confirmed"}
	}
	email := strings.ToLower(strings.TrimSpace(u.Profile.Email))
	var groups []string
	if users != nil {
		if groups, err = users.GroupsForEmail(ctx, email); err != nil {
			return approvals.Approver{}, fmt.Errorf("slack: groups of %s: %w", email, err)
		}
	}
	return approvals.Approver{Subject: email, Email: email, Groups: groups, Via: approvals.ViaSlack}, nil
}

func isUnverified(err error) bool {
	var u errUnverified
	return errors.As(err, &u)
}
