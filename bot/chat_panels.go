package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// chatPanels posts and redraws the control panel and the announcement
// (incident.PanelPoster).
type chatPanels struct{ *slackConn }

// PostPanel posts the incident's control panel in its channel.
func (c *chatPanels) PostPanel(ctx context.Context, inc *incident.Incident) (string, error) {
	if inc.ChannelID == "" {
		return "", incident.Errorf(incident.EINVALID, "%s has no channel yet, so its control panel cannot be posted.", inc.Key())
	}
	msg := c.panelMessage(inc)
	opts := msg.options()
	_, ts, adopted, err := c.postOnce(ctx, inc.ChannelID, fmt.Sprintf("panel:%d", inc.ID), inc.DeclaredAt, opts...)
	if err != nil {
		return "", classifyIn(ctx, "chat.postMessage", "post the control panel of "+inc.Key(), err)
	}
	if adopted {
		// An earlier attempt posted it: bring it up to date instead.
		if err := c.updateIfChanged(ctx, inc.ChannelID, ts, msg); err != nil {
			return "", classifyIn(ctx, "chat.update", "update the control panel of "+inc.Key(), err)
		}
		return ts, nil
	}
	c.remember(inc.ChannelID, ts, msg.hash())
	return ts, nil
}

// UpdatePanel redraws the control panel in place. An incident whose panel
// was never posted is ENOTFOUND.
func (c *chatPanels) UpdatePanel(ctx context.Context, inc *incident.Incident) error {
	if inc.ChannelID == "" || inc.PanelTS == "" {
		return incident.Errorf(incident.ENOTFOUND, "%s has no control panel yet.", inc.Key())
	}
	err := c.updateIfChanged(ctx, inc.ChannelID, inc.PanelTS, c.panelMessage(inc))
	return classifyIn(ctx, "chat.update", "update the control panel of "+inc.Key(), err)
}

func (c *chatPanels) panelMessage(inc *incident.Incident) message {
	return message{text: panelFallback(inc, c.policy), blocks: PanelBlocks(inc, c.policy)}
}

// Announce posts the incident in the broadcast channel, given as an id or
// as a name with or without '#', and returns the channel's id and the
// message's ts. Names are resolved once and cached.
//
// A private incident is announced only in a private channel: a public one
// is refused with EFORBIDDEN before anything is posted.
func (c *chatPanels) Announce(ctx context.Context, channel string, inc *incident.Incident) (string, string, error) {
	channelID, err := c.channelID(ctx, channel)
	if err != nil {
		return "", "", err
	}
	if inc.Private {
		info, err := c.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channelID})
		if err != nil {
			return "", "", classifyIn(ctx, "conversations.info", "check that "+channelLabel(channel)+" is private", err)
		}
		if !info.IsPrivate {
			return "", "", incident.Errorf(incident.EFORBIDDEN, "%s is private, and %s is a public channel: set channels.private_broadcast to a private channel.", inc.Key(), channelLabel(channel))
		}
	}
	msg := c.announcementMessage(inc)
	opts := msg.options()
	respChannel, ts, adopted, err := c.postOnce(ctx, channelID, fmt.Sprintf("announce:%d", inc.ID), inc.DeclaredAt, opts...)
	if err != nil {
		c.forgetChannel(channel, err)
		return "", "", classifyIn(ctx, "chat.postMessage", "announce "+inc.Key()+" in "+channelLabel(channel), err)
	}
	if respChannel == "" {
		respChannel = channelID
	}
	if adopted {
		if err := c.updateIfChanged(ctx, respChannel, ts, msg); err != nil {
			return "", "", classifyIn(ctx, "chat.update", "update the announcement of "+inc.Key(), err)
		}
		return respChannel, ts, nil
	}
	c.remember(respChannel, ts, msg.hash())
	return respChannel, ts, nil
}

// UpdateAnnouncement redraws the announcement in place.
func (c *chatPanels) UpdateAnnouncement(ctx context.Context, channelID, ts string, inc *incident.Incident) error {
	id, err := c.channelID(ctx, channelID)
	if err != nil {
		return err
	}
	err = c.updateIfChanged(ctx, id, ts, c.announcementMessage(inc))
	return classifyIn(ctx, "chat.update", "update the announcement of "+inc.Key(), err)
}

func (c *chatPanels) announcementMessage(inc *incident.Incident) message {
	return message{text: panelFallback(inc, c.policy), blocks: AnnouncementBlocks(inc, c.policy)}
}
