// Package bwlimit reads a bandwidth limit written in the manner of rclone's
// --bwlimit and says which rate is in force at a given time, and until when.
//
// A limit is either one rate, in force all the time:
//
//	2MiB        512k        1.5M        off
//
// or a weekly timetable of entries [DAY-]HH:MM,RATE separated by spaces or
// semicolons:
//
//	Mon-08:00,512KiB 18:00,off
//	08:00,512k;12:00,10M;13:00,512k;18:00,30M;23:00,off
//
// A rate is bytes per second: a number (decimals allowed) and a unit, B,
// KiB, MiB or GiB, or rclone's one-letter k, M and G (binary multiples, any
// case; Ki and Mi are read too, and a trailing /s is allowed). off means no
// limit. Unlike rclone, a number without a unit is refused (rclone reads
// it as KiB, which nobody guesses), as are 0 (rclone's "no limit": write
// off), rates below 1 KiB/s (an S3 server times a request out long before
// a part arrives at that rate) and UP:DOWN pairs (tilesyncd limits only
// what it sends).
//
// An entry with a day (Mon or Monday, any case) starts on that day of the
// week; an entry without one starts at that time every day. Each rate holds
// until the next entry's time, the last of the week wrapping around to the
// first; where two entries name the same time the later one wins, as in
// rclone, so "08:00,512k Sat-08:00,off" limits every morning but Saturday's.
// Where rclone, for a time before every entry of the week, takes the last
// entry written, this package takes the week's last entry in time (the same
// when the entries are written in order, as rclone's documentation does).
//
// Times are wall-clock times in the location of the time given to At
// (the machine's local time for time.Now).
package bwlimit
