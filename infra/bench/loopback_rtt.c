/* Round-trip time of one byte over loopback TCP between two processes, the
 * client waiting GAP_US between round trips (so the peer sleeps, as a proxy
 * between paced requests does). What one extra network hop costs on this
 * machine.
 *
 *   cc -O2 -o /tmp/loopback_rtt infra/bench/loopback_rtt.c && /tmp/loopback_rtt 5000 ep
 *
 * GAP_US: pause between round trips; a second argument: the server waits in
 * epoll_wait (as an event loop does) before each read. */
#include <stdio.h>
#include <unistd.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <sys/epoll.h>
static long long now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1000000000LL+t.tv_nsec;}
int cmp(const void*a,const void*b){long long x=*(long long*)a,y=*(long long*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){int n=2000;int gap=atoi(argv[1]);int useep=argc>2;
int l=socket(AF_INET,SOCK_STREAM,0);struct sockaddr_in a={0};a.sin_family=AF_INET;a.sin_addr.s_addr=htonl(0x7f000001);
bind(l,(void*)&a,sizeof a);listen(l,1);socklen_t al=sizeof a;getsockname(l,(void*)&a,&al);
if(fork()==0){int c=accept(l,0,0);int one=1;setsockopt(c,IPPROTO_TCP,TCP_NODELAY,&one,4);char b[64];
 int ep=epoll_create1(0);struct epoll_event ev={.events=EPOLLIN,.data.fd=c};epoll_ctl(ep,EPOLL_CTL_ADD,c,&ev);
 for(int i=0;i<n;i++){if(useep){struct epoll_event e;epoll_wait(ep,&e,1,-1);}read(c,b,1);write(c,b,1);}exit(0);}
int s=socket(AF_INET,SOCK_STREAM,0);connect(s,(void*)&a,sizeof a);int one=1;setsockopt(s,IPPROTO_TCP,TCP_NODELAY,&one,4);
long long *rt=malloc(n*sizeof(long long));char c='x';
for(int i=0;i<n;i++){usleep(gap);long long t=now();write(s,&c,1);read(s,&c,1);rt[i]=now()-t;}
wait(NULL);qsort(rt,n,sizeof(long long),cmp);printf("tcp gap %dus epoll=%d: round trip p50 %lld us p99 %lld us\n",gap,useep,rt[n/2]/1000,rt[n*99/100]/1000);}
