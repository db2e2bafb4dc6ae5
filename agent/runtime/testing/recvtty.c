/* Test helper (like runc's contrib/recvtty): listens on a unix socket for a runtime's
 * --console-socket, receives the pty master and copies what the container shows to stdout. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1) < 0) return perror("listen"), 1;
  int c = accept(ls, NULL, NULL);
  char dummy, cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {&dummy, 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  if (c < 0 || recvmsg(c, &msg, 0) <= 0 || !CMSG_FIRSTHDR(&msg)) return perror("recvmsg"), 1;
  int master;
  memcpy(&master, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof master);
  close(c);
  close(ls);
  unlink(argv[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(master, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
  return 0;
}
