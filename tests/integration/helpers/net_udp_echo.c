/* net_udp_echo PORT: answers every UDP datagram on PORT with "echo:" + the datagram, from
 * the same socket (net_publish_udp.sh runs it in a container behind --publish .../udp;
 * busybox has no UDP server). Built static by the test. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char** argv)
{
    if (argc != 2)
        return 2;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)atoi(argv[1]));
    if (fd < 0 || bind(fd, (struct sockaddr*)&address, sizeof address) < 0) {
        perror("bind");
        return 1;
    }
    for (;;) {
        char in[1024], out[1100];
        struct sockaddr_in peer;
        socklen_t size = sizeof peer;
        ssize_t got = recvfrom(fd, in, sizeof in - 1, 0, (struct sockaddr*)&peer, &size);
        if (got < 0)
            continue;
        in[got] = 0;
        int length = snprintf(out, sizeof out, "echo:%s", in);
        sendto(fd, out, (size_t)length, 0, (struct sockaddr*)&peer, size);
    }
}
