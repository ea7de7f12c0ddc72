package plugin

import mail "github.com/wneessen/go-mail"

// TODO(plugin-run): mail.send over SMTP.
var _ = mail.NewMsg
