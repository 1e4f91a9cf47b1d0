package pfinstances

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// queueNames are the queues status counts, in output order.
var queueNames = []string{"incoming", "active", "deferred", "hold"}

// queueCounts are the numbers of messages in an instance's queues.
type queueCounts struct {
	Incoming int `json:"incoming"`
	Active   int `json:"active"`
	Deferred int `json:"deferred"`
	Hold     int `json:"hold"`
}

// countQueues counts the files below each queue directory of queueDir,
// found below root ("" for "/"), hashed subdirectories included, as "find
// QUEUE -type f" would; no postqueue process is run. Paths in errors are
// the instance's, without root.
func countQueues(root, queueDir string) (*queueCounts, error) {
	var q queueCounts
	dst := []*int{&q.Incoming, &q.Active, &q.Deferred, &q.Hold}
	for i, name := range queueNames {
		n, err := countFiles(root + filepath.Join(queueDir, name))
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				pe.Path = strings.TrimPrefix(pe.Path, root)
			}
			return nil, err
		}
		*dst[i] = n
	}
	return &q, nil
}

func countFiles(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// A queue file that went away meanwhile (delivered) is fine.
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			n++
		}
		return nil
	})
	return n, err
}

// masterState is what the master's PID file says.
type masterState struct {
	PID    int  // the PID in the file, 0 when there is no file or no PID
	Locked bool // a process holds the file's lock: a master runs
	Alive  bool // a process with that PID exists
}

// readMaster reads the PID file pidFile (a host path) and tests its lock
// as "postfix status" does (master -t: the master holds an exclusive
// flock on it while it runs).
func readMaster(pidFile string, alive func(int) bool) (masterState, error) {
	var s masterState
	f, err := os.Open(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pid > 0 {
		s.PID = pid
		s.Alive = alive(pid)
	}
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); {
	case err == nil:
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	case errors.Is(err, syscall.EWOULDBLOCK):
		s.Locked = true
	default:
		return s, err
	}
	return s, nil
}

// processAlive is kill(pid, 0): EPERM means it exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
