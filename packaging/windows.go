package packaging

import (
	"github.com/kardianos/service"
)

// WindowsGuidance is printed by `tilesyncd install` on Windows (and is the
// gist of WINDOWS.md): UNC paths, the service account, the event log.
var WindowsGuidance = templateText("windows.txt")

// WindowsConfig is the kardianos/service configuration of the Windows
// service: started automatically (delayed, after the boot rush), restarted
// 5 s after each failure (the failure count resets after a day), running
// Binary with absolute paths in its arguments, since a service starts in
// C:\Windows\System32. User is the service account ("" is LocalSystem,
// which cannot see mapped drives); its password is set afterwards with
// sc.exe or services.msc rather than passed on a command line.
func WindowsConfig(p Params) (*service.Config, error) {
	if err := checkPaths(windowsAbs, "binary", p.Binary, "config", p.Config); err != nil {
		return nil, err
	}
	return &service.Config{
		Name:        ServiceName,
		DisplayName: "tilesyncd",
		Description: "Keeps Mapbox tilesets in step with folders: uploads finished GeoJSON, MBTiles and shapefiles.",
		Executable:  p.Binary,
		Arguments:   ServiceArgs(p.Config),
		UserName:    p.User,
		Option: service.KeyValue{
			"StartType":              "automatic",
			"DelayedAutoStart":       true,
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "5s",
			"OnFailureResetPeriod":   86400,
		},
	}, nil
}
